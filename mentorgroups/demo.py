"""The Demo School: fixed logins, three paths, cohorts with teachers, about forty learners with
realistic progress and submissions over the last three weeks. Seeding twice changes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from mentorgroups.extensions import db
from mentorgroups.models import (
    Account,
    AccountMembership,
    Cohort,
    CohortMembership,
    DigestSubscription,
    GroupMembership,
    MentorGroup,
    Path,
    Review,
    Step,
    StepCompletion,
    Submission,
    User,
    utcnow,
)
from mentorgroups.services.errors import ServiceError

DEMO_SLUG = "demo-school"
DEMO_PASSWORD = "demo-pass-1"
DEMO_LOGINS = [
    ("admin@demo.test", "account admin: the back office, Group Admin of Coaching circle"),
    ("mentor@demo.test", "staff: mentors Coaching circle, teaches cohorts; reviews at /review/"),
    ("teacher@demo.test", "staff: teaches cohorts, mentors Data analysts and Writers' room"),
    ("learner@demo.test", "learner: one step before a step marked for review"),
    ("sam@demo.test", "learner with work waiting for review (Coaching circle)"),
]

PATHS = [
    ("Foundations of Data Analysis", [
        ("Welcome and course map", False, None),
        ("Spreadsheets refresher", False, None),
        ("Cleaning a messy dataset", True, 10),
        ("Descriptive statistics", False, None),
        ("Charts that tell the truth", False, None),
        ("Mini project: your first dashboard", True, 20),
        ("Correlation is not causation", False, None),
        ("Sampling and bias", False, None),
        ("Reflection: what surprised you?", True, None),
        ("Final project proposal", True, 30),
    ]),
    ("Writing for the Web", [
        ("How people read online", False, None),
        ("Headlines that earn the click", True, 10),
        ("Plain language", False, None),
        ("Structure and scannability", False, None),
        ("Rewrite a product page", True, 15),
        ("Accessibility basics", False, None),
        ("Editing your own work", False, None),
        ("Portfolio piece", True, 25),
    ]),
    ("Project Management Essentials", [
        ("What a project is (and is not)", False, None),
        ("Stakeholders and goals", False, None),
        ("Write a project charter", True, 10),
        ("Scope and work breakdown", False, None),
        ("Estimating honestly", False, None),
        ("Risk register exercise", True, 10),
        ("Scheduling and critical path", False, None),
        ("Running a good meeting", False, None),
        ("Status report", True, None),
        ("Managing change", False, None),
        ("Retrospectives", False, None),
        ("Capstone plan", True, 30),
    ]),
]

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jade", "Kofi",
         "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess", "Uma",
         "Victor", "Wen", "Xavi", "Yara", "Zoe", "Amir", "Bea", "Caleb", "Dina", "Emil",
         "Fleur", "Goran", "Hugo", "Iris", "Jonas", "Kira", "Luca", "Maya"]
LAST = ["Okafor", "Lindqvist", "Moreau", "Patel", "Yilmaz", "Haddad", "Novak", "Sato",
        "Petrov", "Nguyen", "Mensah", "Fischer", "Rossi", "Adeyemi", "Khan", "Sharma",
        "O'Brien", "Garcia", "Kowalski", "Dubois"]
FEEDBACK = ["Clear and well argued. Next time, show one worked example.",
            "Good start. Tighten the second half and cite your data source.",
            "Excellent work: this is exactly the level we're after.",
            "You've understood the idea; the write-up needs more structure."]


def seed_demo() -> bool:
    """Create the Demo School; False (and nothing changed) when it exists already."""
    if db.session.scalar(select(Account.id).where(Account.slug == DEMO_SLUG)) is not None:
        return False
    rng = random.Random(20261128)
    now = utcnow()
    password_hash = generate_password_hash(DEMO_PASSWORD)

    def person(email: str, name: str, role: str) -> User:
        """Demo people are new personal accounts with the published demo password; an
        existing personal account is never enrolled (nor its password touched)."""
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            raise ServiceError(f"{email} already has a personal account, and the demo never "
                               "enrols an existing person. Seed the demo into a fresh database.")
        user = User(email=email, full_name=name, password_hash=password_hash,
                    created_at=now - timedelta(days=30))
        db.session.add(user)
        db.session.add(AccountMembership(account=school, user=user, role=role,
                                         created_at=now - timedelta(days=30)))
        return user

    school = Account(name="Demo School", slug=DEMO_SLUG, plan="essentials",
                     time_zone="Europe/London", created_at=now - timedelta(days=40))
    db.session.add(school)
    admin = person("admin@demo.test", "Alex Admin", "admin")
    mentor = person("mentor@demo.test", "Morgan Mentor", "staff")
    teacher = person("teacher@demo.test", "Taylor Teacher", "staff")
    learner = person("learner@demo.test", "Lee Learner", "member")
    waiting = person("sam@demo.test", "Sam Rivera", "member")
    learners = [learner, waiting]
    for i in range(38):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        email = f"{first}.{last}".lower().replace("'", "") + f"{i}@demo.test"
        learners.append(person(email, f"{first} {last}", "member"))

    reviewers = [admin, mentor, teacher]
    for p_index, (title, steps) in enumerate(PATHS):
        path = Path(account=school, title=title,
                    description=f"A self-paced path in {title.lower()}.",
                    created_at=now - timedelta(days=35))
        path.steps = [Step(position=i + 1, title=t, requires_review=r, points=pts,
                           body=f"Work through \u201c{t}\u201d, then mark it complete.")
                      for i, (t, r, pts) in enumerate(steps)]
        db.session.add(path)
        cohorts = []
        for c_index, season in enumerate(("Autumn", "Winter")):
            cohort = Cohort(path=path, name=f"{season} 2026",
                            starts_on=(now - timedelta(days=28 - 14 * c_index)).date())
            cohort.memberships.append(CohortMembership(
                user=mentor if (p_index + c_index) % 2 == 0 else teacher, role="teacher"))
            cohorts.append(cohort)
            db.session.add(cohort)
        # Each learner takes one or two paths; the demo learner takes all three.
        for l_index, person_ in enumerate(learners):
            if person_ is not learner and (l_index + p_index) % 3 == 2:
                continue
            cohort = cohorts[l_index % 2]
            cohort.memberships.append(CohortMembership(user=person_, role="learner"))
            if person_ is learner and p_index == 0:
                done = 4  # stops just before a review step, so the demo can submit one
            elif person_ is waiting and p_index == 0:
                done = 6  # past the first review step, whose work waits for a mentor
            else:
                done = rng.choice([0, 1, 2, 3, 4, 5, 6, len(steps)])
            start = now - timedelta(days=21)
            for step in path.steps[:done]:
                at = start + timedelta(minutes=rng.randint(0, 21 * 24 * 60))
                db.session.add(StepCompletion(user=person_, step=step, cohort=cohort,
                                              completed_at=at))
                if step.requires_review:
                    submission = Submission(
                        account=school, user=person_, step=step, cohort=cohort,
                        content=f"My work on {step.title.lower()}: notes, links and a short "
                                f"reflection on what I learned.",
                        submitted_at=at, status="pending")
                    db.session.add(submission)
                    if rng.random() < 0.55 and person_ is not waiting:
                        submission.status = "reviewed"
                        reviewer = rng.choice(reviewers)
                        grade = rng.randint(step.points // 2, step.points) if step.points else None
                        db.session.add(Review(
                            submission=submission, reviewer=reviewer, grade=grade,
                            feedback=rng.choice(FEEDBACK),
                            created_at=min(at + timedelta(hours=rng.randint(2, 96)), now)))
    _seed_groups(school, admin, mentor, teacher, learners, now)
    db.session.commit()
    return True


def _seed_groups(school, admin, mentor, teacher, learners, now):
    """Three Mentor Groups (the plan allows five): mentor@demo.test mentors the learner."""
    circle = MentorGroup(account=school, name="Coaching circle",
                         created_at=now - timedelta(days=20),
                         description="One-to-one coaching for this term's new learners.")
    analysts = MentorGroup(account=school, name="Data analysts", parent=circle,
                           created_at=now - timedelta(days=18),
                           description="Learners on the data track.")
    writers = MentorGroup(account=school, name="Writers' room",
                          created_at=now - timedelta(days=10),
                          description="Peer feedback on writing assignments.")
    db.session.add_all([circle, analysts, writers])
    people = [(circle, mentor, "mentor"), (circle, admin, "group_admin"),
              (analysts, teacher, "mentor"), (writers, teacher, "mentor")]
    people += [(circle, person, "member") for person in learners[:10]]
    people += [(analysts, person, "member") for person in learners[10:18]]
    people += [(writers, person, "member") for person in learners[18:26]]
    for group, person, role in people:
        db.session.add(GroupMembership(group=group, user=person, role=role, added_by=admin,
                                       created_at=now - timedelta(days=9)))
        if role != "member":  # as the product does: staff start with the digest on
            db.session.add(DigestSubscription(group=group, user=person, subscribed=True))

