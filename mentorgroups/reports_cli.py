"""`flask --app app reports members|progress --account SLUG > file.csv`: the Mentor Group
reports for operators, the same files as the back office's, with a progress bar on stderr."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from mentorgroups.csvfile import csv_chunks
from mentorgroups.services import reports
from mentorgroups.services.errors import ServiceError

reports_cli = AppGroup("reports", help="The Mentor Group CSV reports of a school, on stdout.")
PROGRESS_EVERY = 1000


def _counted(rows, bar):
    n = 0
    for row in rows:
        yield row
        n += 1
        if n == PROGRESS_EVERY:
            bar.update(n)
            n = 0
    bar.update(n)


def _write(kind: str, slug: str, quiet: bool) -> None:
    try:
        report = reports.operator_report(kind, slug)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    out = sys.stdout.buffer  # bytes: the BOM and UTF-8 exactly as the web serves them
    stderr = sys.stderr
    if quiet:
        for chunk in csv_chunks(report.header, report.rows()):
            out.write(chunk)
    else:
        total = report.count()
        with click.progressbar(length=total, label=report.filename, file=stderr,
                               show_pos=True) as bar:
            for chunk in csv_chunks(report.header, _counted(report.rows(), bar)):
                out.write(chunk)
    out.flush()


@reports_cli.command("members")
@click.option("--account", "slug", required=True, help="The school's slug.")
@click.option("--quiet", is_flag=True, help="No progress bar (and no counting query).")
def members_command(slug: str, quiet: bool):
    """Mentor Group members: one row per person per group, invitations included."""
    _write("members", slug, quiet)


@reports_cli.command("progress")
@click.option("--account", "slug", required=True, help="The school's slug.")
@click.option("--quiet", is_flag=True, help="No progress bar (and no counting query).")
def progress_command(slug: str, quiet: bool):
    """Mentor Group learner progress: one row per group member per path started."""
    _write("progress", slug, quiet)
