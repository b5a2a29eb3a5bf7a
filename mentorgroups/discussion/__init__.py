"""The discussion on a submission: one page and one reply route for the learner and its
reviewers (the path page, the review page and the profile card post here with a `next`)."""

from flask import Blueprint

bp = Blueprint("discussion", __name__, url_prefix="/submissions")

from mentorgroups.discussion import routes  # noqa: E402,F401
