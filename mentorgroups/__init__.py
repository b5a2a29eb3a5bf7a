"""Mentor Groups: the app factory."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from mentorgroups.settings import INSTANCE_DIR, ROOT, load_config

log = logging.getLogger("mentorgroups")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. `config` overrides the environment (tests pass their own)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(INSTANCE_DIR),
    )
    app.config.update(load_config(overrides=config or {}))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE_DIR.mkdir(exist_ok=True)

    from mentorgroups import (
        admin,
        api,
        auth,
        cli,
        digests,
        discussion,
        email_choices,
        health,
        input_guard,
        invitations,
        learner,
        people,
        request_cache,
        review,
        scim,
        security_headers,
        tenancy,
        web,
    )
    from mentorgroups.extensions import csrf, db, limiter, login_manager, mail, migrate
    from mentorgroups.jobs.registry import load_job_modules

    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Behind `hops` proxies, the client is the address they saw: rate limits, the reset
        # limit per client and the sign-in throttle key on it. Never with 0: X-Forwarded-For
        # from a client reaching the app directly is whatever it likes.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    input_guard.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    mail.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    tenancy.init_app(app, login_manager)
    request_cache.init_app(app)
    web.init_app(app)
    security_headers.init_app(app)
    load_job_modules()

    app.register_blueprint(auth.bp)
    app.register_blueprint(learner.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(invitations.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(digests.bp)
    app.register_blueprint(email_choices.bp)
    app.register_blueprint(discussion.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(scim.bp)
    admin.init_app(app)
    cli.init_app(app)

    mode = "RQ via Redis" if app.config.get("REDIS_URL") else "in-process (no REDIS_URL)"
    mail_mode = (
        f"SMTP {app.config['MAIL_SERVER']}:{app.config['MAIL_PORT']}"
        if not app.config.get("MAIL_SUPPRESS_SEND") else "recorded and logged (no MAIL_SERVER)"
    )
    app.logger.info("Jobs: %s. Email: %s.", mode, mail_mode)
    if app.config.get("PERIODIC_TASKS_IN_PROCESS"):
        from mentorgroups.scheduler import start_in_process

        app.extensions["mentorgroups.periodic"] = start_in_process(app)
    return app
