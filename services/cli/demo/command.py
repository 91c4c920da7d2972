"""`attx demo-data --out DIR`: write the synthetic local authority to a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from services.cli.demo.calibration import format_figures
from services.cli.demo.population import DemoConfig
from services.cli.demo.writers import write_demo


def command(
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    schools: Annotated[int, typer.Option(help="Schools in the authority (at least 2).")] = 10,
    pupils: Annotated[int, typer.Option(help="Pupils across the authority's schools.")] = 5000,
    seed: Annotated[int, typer.Option(help="Same seed, same authority.")] = 2024,
    year: Annotated[
        int, typer.Option(help="Academic year, by its autumn: 2024 is 2024/25.")
    ] = 2024,
    weeks: Annotated[
        int | None, typer.Option(help="Only the first N weeks of the year (small sets).")
    ] = None,
    older_year: Annotated[
        bool, typer.Option(help="Also the previous summer term, in the pre-2024 codes.")
    ] = True,
) -> None:
    """Generate a synthetic local authority: directory, returns in JSON/CSV/CTF, social care."""
    try:
        config = DemoConfig(
            schools=schools, pupils=pupils, seed=seed, year=year, weeks=weeks, older_year=older_year
        )
        generated = write_demo(config, out)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from error
    population = generated.population
    typer.echo(
        f"{population.la.name} ({population.la.code}), {population.calendar.label}: "
        f"{len(population.home_schools())} schools + 1 in {population.neighbour_la.name}, "
        f"{len(population.children)} children, {len(population.enrolments)} enrolments, "
        f"{len(population.episodes)} social-care episodes."
    )
    marks = sum(e.marks for e in generated.entries)
    typer.echo(f"{len(generated.entries)} returns, {marks} marks, written to {out}.")
    typer.echo("\nHeadline figures of the generated marks (DfE counting rules):")
    typer.echo(format_figures(generated.figures))
