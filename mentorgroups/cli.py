"""Operator commands: `flask --app app seed-demo | accounts ... | users ... | jobs ...`."""

from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from mentorgroups.extensions import db
from mentorgroups.models import PLANS, Account
from mentorgroups.services import accounts as account_service
from mentorgroups.services.errors import ServiceError

accounts_cli = AppGroup("accounts", help="Create schools and change their plan.")
users_cli = AppGroup("users", help="Create personal accounts.")
jobs_cli = AppGroup("jobs", help="Inspect and re-dispatch background jobs.")


def _fail(exc: ServiceError):
    db.session.rollback()
    raise click.ClickException(exc.message)


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Seed only when the database has no school.")
def seed_demo_command(if_empty: bool):
    """Create the Demo School with fixed logins (running it again changes nothing)."""
    from mentorgroups.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_demo

    if if_empty and db.session.scalar(select(func.count()).select_from(Account)):
        click.echo("A school exists already; not seeding the demo.")
    else:
        try:
            created = seed_demo()
        except ServiceError as exc:
            _fail(exc)
        click.echo("Demo School created." if created else "Demo School exists already.")
    click.echo(f"Demo logins (password for each: {DEMO_PASSWORD}):")
    for email, what in DEMO_LOGINS:
        click.echo(f"  {email:<22} {what}")


@accounts_cli.command("create")
@click.argument("name")
@click.option("--plan", type=click.Choice(PLANS), default="trial", show_default=True)
@click.option("--admin-email", required=True)
@click.option("--admin-name", default=None, help="For someone new to Mentor Groups.")
@click.option("--time-zone", default="UTC", show_default=True)
@click.option("--print-link", is_flag=True,
              help="Print the admin's link here instead of emailing it (no mail server).")
def accounts_create(name, plan, admin_email, admin_name, time_zone, print_link):
    """A new school and its first admin. Nobody's password is set here: someone new gets a
    set-your-password link; someone who already has a personal account gets an invitation
    to accept."""
    from mentorgroups.services.invitations import make_token
    from mentorgroups.services.notifications import external_url
    from mentorgroups.services.passwords import link_url, new_link

    try:
        result = account_service.create_account(name, plan, admin_email, admin_name,
                                                 time_zone, send=not print_link)
        link = None
        if print_link and result.user is not None:
            link = link_url(new_link(result.user, "setup")[1])
        elif print_link:
            link = external_url("invitations.show", token=make_token(result.invitation.nonce))
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    account = result.account
    click.echo(f"Created {account.name} (slug {account.slug}, plan {account.plan}).")
    if result.user is not None:
        how = "Give them this link" if print_link else "Emailed them a link"
        click.echo(f"{result.user.email} is its admin, with a new personal account and no "
                   f"password yet. {how} to set their password:")
    else:
        how = "Give them this link" if print_link else "Emailed them an invitation"
        click.echo(f"{result.invitation.email} already has a personal account, so they were "
                   f"invited to be its admin; they join when they accept. {how}:")
    if link:
        click.echo(f"  {link}")


@accounts_cli.command("set-plan")
@click.argument("slug")
@click.argument("plan", type=click.Choice(PLANS))
def accounts_set_plan(slug, plan):
    try:
        account = account_service.set_plan(slug, plan)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"{account.name} is now on the {account.plan} plan.")


@accounts_cli.command("list")
def accounts_list():
    for account in db.session.scalars(select(Account).order_by(Account.name)):
        click.echo(f"{account.slug:<30} {account.plan:<11} {account.name}")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--print-link", is_flag=True,
              help="Print the set-your-password link instead of emailing it.")
def users_create(email, full_name, print_link):
    """A personal account with no password: its owner sets one from the link."""
    from mentorgroups.services.passwords import link_url, new_link, send_setup_link

    try:
        user = account_service.create_user(email, full_name)
        link = link_url(new_link(user, "setup")[1]) if print_link else None
        if not print_link:
            send_setup_link(user)
        db.session.commit()
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Created {user.full_name} <{user.email}> with no password yet.")
    if link:
        click.echo(f"Give them this link to set their password:\n  {link}")
    else:
        click.echo("Emailed them a link to set their password.")


@jobs_cli.command("sweep")
def jobs_sweep():
    """Push every job that is due now (also run by the scheduler; safe to run from cron)."""
    from mentorgroups.jobs.outbox import sweep

    click.echo(f"Dispatched {sweep()} job(s).")


def _when(moment, now) -> str:
    if moment is None:
        return "-"
    from mentorgroups.web import waited

    stamp = moment.strftime("%Y-%m-%d %H:%M:%SZ")
    return f"{stamp} ({waited(moment, now)} ago)" if moment <= now else \
        f"{stamp} (in {waited(now, moment)})"


@jobs_cli.command("status")
def jobs_status():
    """Rows by status with the age of the oldest, what is due, stuck and given up."""
    from mentorgroups.jobs.ops import backlog
    from mentorgroups.models import utcnow
    from mentorgroups.web import waited

    now = utcnow()
    info = backlog(now)
    click.echo(f"{'status':<10} {'count':>7}  oldest")
    for status, row in sorted(info["by_status"].items()):
        age = row["oldest_age_seconds"]
        oldest = waited(now - timedelta(seconds=age), now) if age is not None else "-"
        click.echo(f"{status:<10} {row['count']:>7}  {oldest}")
    due_since = info["oldest_due_at"]
    click.echo(f"due now: {info['due']}" + (
        f" (oldest due since {due_since}, {info['oldest_due_age_seconds']} s ago)"
        if due_since else ""))
    click.echo(f"next due: {info['next_due_at'] or '-'}")
    click.echo(f"stuck: {info['stuck']}   dead: {info['dead']}")


@jobs_cli.command("list")
@click.option("--status", "status", required=True,
              type=click.Choice(["failed", "dead", "stuck", "staged", "enqueued", "running"]),
              help="failed: waiting for a retry; dead: given up; stuck: overdue or lease expired")
@click.option("--limit", default=50, show_default=True)
def jobs_list(status, limit):
    """Jobs in one state, oldest first, with attempts, ages and the last error."""
    from mentorgroups.jobs.ops import list_jobs
    from mentorgroups.models import utcnow

    now = utcnow()
    rows = list_jobs(status, limit)
    if not rows:
        click.echo(f"No {status} jobs.")
    for row in rows:
        error = (row.last_error or "").splitlines()[-1:] or ["-"]
        click.echo(f"#{row.id} {row.name} [{row.status}] attempts {row.attempts}, "
                   f"staged {_when(row.created_at, now)}")
        click.echo(f"    next attempt: {_when(row.next_attempt_at, now)}; "
                   f"gives up: {_when(row.give_up_at, now)}; lease: "
                   f"{_when(row.locked_until, now)}")
        click.echo(f"    last error: {error[0][:200]}")


@jobs_cli.command("show")
@click.argument("job_id", type=int)
def jobs_show(job_id):
    """One job with its payload and every attempt's error."""
    from mentorgroups.models import OutboxJob, utcnow

    row = db.session.get(OutboxJob, job_id)
    if row is None:
        raise click.ClickException(f"No job #{job_id}.")
    now = utcnow()
    click.echo(f"#{row.id} {row.name} on queue {row.queue} [{row.status}]")
    click.echo(f"attempts {row.attempts}, pushed {row.pushes} time(s)")
    for label, moment in (("staged", row.created_at), ("next attempt", row.next_attempt_at),
                          ("gives up", row.give_up_at), ("lease until", row.locked_until),
                          ("finished", row.finished_at)):
        click.echo(f"{label:>13}: {_when(moment, now)}")
    click.echo(f"payload: {sorted((row.payload or {}).keys())}")
    click.echo(f"errors ({len(row.errors or [])}):")
    for entry in row.errors or []:
        click.echo(f"  {entry['at']} attempt {entry['attempt']}: {entry['error']}")


@jobs_cli.command("retry")
@click.argument("job_ids", type=int, nargs=-1)
@click.option("--all-dead", is_flag=True, help="Re-drive every dead job.")
def jobs_retry(job_ids, all_dead):
    """Re-drive failed or dead jobs now, with a fresh retry horizon."""
    from mentorgroups.jobs.ops import retry_jobs

    if not job_ids and not all_dead:
        raise click.UsageError("Give job ids or --all-dead.")
    done = retry_jobs(list(job_ids), all_dead=all_dead)
    missing = sorted(set(job_ids) - set(done))
    click.echo(f"Re-driven {len(done)} job(s)" + (f": {', '.join(map(str, done))}." if done
                                                   else "."))
    if missing:
        click.echo(f"Not failed or dead (left alone): {', '.join(map(str, missing))}.")


digests_cli = AppGroup("digests", help="The weekly Mentor Digest: send by hand, preview.")


def _accounts(slug: str | None) -> list[Account]:
    if slug:
        return [account_service.account_by_slug(slug)]
    return list(db.session.scalars(select(Account).order_by(Account.name)))


@digests_cli.command("send")
@click.option("--account", "slug", default=None, help="One school's slug (default: all).")
@click.option("--week", default=None, help="ISO week of the send date, e.g. 2026-W48 "
                                            "(default: the latest one due).")
@click.option("--dry-run", is_flag=True, help="Only count what would be sent.")
def digests_send(slug, week, dry_run):
    """Send (or count) the due digests now. Whatever was sent for that week already is not
    sent again."""
    from mentorgroups.services import digests

    try:
        for account in _accounts(slug):
            digest_week = digests.resolve_week(account, week)
            title = f"{account.name}, {digest_week.key} ({digest_week.label})"
            if dry_run:
                counts = digests.dry_run(account, digest_week)
                click.echo(f"{title}: would send {counts['would_send']}, nothing to say for "
                           f"{counts['nothing_to_say']}, already done {counts['already_done']}")
                continue
            digests.start_run(account, digest_week, stage=False)  # the tick won't redo it
            db.session.commit()
            total = digests.claim(account, digest_week)
            with click.progressbar(length=total, label=account.name,
                                   file=sys.stderr) as bar:
                counts = digests.send_week(account, digest_week, progress=bar.update)
            totals = digests.week_totals(account, digest_week)
            click.echo(f"{title}: {counts['staged']} digest(s) on their way, "
                       f"{counts['skipped']} with nothing to say; this week so far: "
                       f"{totals.get('sent', 0)} sent, {totals.get('staged', 0)} waiting to "
                       f"send, {totals.get('skipped', 0)} with nothing to say")
    except ServiceError as exc:
        _fail(exc)


@digests_cli.command("preview")
@click.argument("email")
@click.option("--account", "slug", default=None, help="The school (default: each of theirs).")
def digests_preview(email, slug):
    """Print one person's digest as it would be sent now, as text. Nothing is sent."""

    from mentorgroups.services import digests

    user = account_service.user_by_email(email)
    if user is None:
        raise click.ClickException(f"No person with the email {email}.")
    shown = 0
    for account in _accounts(slug):
        digest = digests.preview_for(user, account)
        if digest is None:
            continue
        shown += 1
        if digest.is_empty:
            click.echo(f"{account.name}: nothing to report this week (no email would be sent).")
            continue
        content = digests.render(digest)
        click.echo(f"Subject: {content['subject']}\n\n{content['text']}")
    if not shown:
        click.echo(f"{email} gets no digest: it is off for every group, or they mentor none.")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run every due task once and exit.")
def scheduler_command(once: bool):
    """The one periodic process: run exactly one of these in production."""
    from mentorgroups.scheduler import run_forever, run_once

    logging.basicConfig(level=logging.INFO)
    if once:
        run_once(current_app._get_current_object(), time.monotonic())
    else:
        run_forever(current_app._get_current_object())


def database_unreachable_line(ctx: click.Context, error: Exception) -> str:
    """One line for an operator: which database, and the driver's first line (never SQL)."""
    from flask.cli import ScriptInfo
    from sqlalchemy.engine import make_url

    from mentorgroups.error_pages import driver_reason

    # The command's app context has ended by now; the app itself is the ScriptInfo's.
    app = ctx.ensure_object(ScriptInfo).load_app()
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    return (f"Mentor Groups can't reach the database ({url}): {driver_reason(error)}. Check "
            "DATABASE_URL and that the database server is up, then run the command again.")


def guard_database(command: click.Command) -> click.Command:
    """Make `command` (a group: every command under it) say in one line on stderr, exit code 1,
    that the database can't be reached, instead of printing SQLAlchemy's traceback."""
    from mentorgroups.error_pages import DATABASE_DOWN

    if getattr(command, "_mg_database_guard", False):
        return command
    invoke = command.invoke

    def guarded_invoke(ctx):
        try:
            return invoke(ctx)
        except DATABASE_DOWN as exc:
            raise click.ClickException(database_unreachable_line(ctx, exc)) from None

    command.invoke = guarded_invoke
    command._mg_database_guard = True
    return command


def init_app(app) -> None:
    from flask_migrate.cli import db as migrate_cli

    from mentorgroups.cli_groups import groups_cli
    from mentorgroups.reports_cli import reports_cli

    for command in (seed_demo_command, accounts_cli, users_cli, jobs_cli, digests_cli,
                    scheduler_command, reports_cli, groups_cli):
        app.cli.add_command(guard_database(command))
    # `flask db ...` is Flask-Migrate's (a plugin of the flask command): the same one line.
    guard_database(migrate_cli)
