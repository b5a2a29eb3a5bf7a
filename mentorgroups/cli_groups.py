"""`flask --app app groups check`: find (and repair) a broken group tree."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from mentorgroups.extensions import db
from mentorgroups.services.group_repair import find_tree_problems, repair_tree_problems

groups_cli = AppGroup("groups", help="Check the Mentor Groups trees.")


@groups_cli.command("check")
@click.option("--dry-run", is_flag=True, help="Only report; change nothing.")
def groups_check(dry_run: bool):
    """Report every group that is its own ancestor or whose parent is in another school, and
    move it to the top level of its school (logged in the school's audit log)."""
    problems = find_tree_problems()
    if not problems:
        click.echo("Every group tree is sound: no cycles, no parents from another school.")
        return
    for problem in problems:
        click.echo(problem.describe())
    if dry_run:
        click.echo(f"{len(problems)} problem(s) found; nothing changed (--dry-run).")
        return
    moved = repair_tree_problems(problems)
    db.session.commit()
    click.echo(f"Repaired: moved {moved} group(s) to the top level of their school "
               "(see each school's audit log).")
    left = find_tree_problems()
    if left:
        raise click.ClickException(f"{len(left)} problem(s) remain; run the check again.")
