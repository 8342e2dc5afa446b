"""``mlpy demo``: the main job, on embedded defaults."""

from __future__ import annotations

import typer

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, print_data


def demo(
    rows: int = typer.Option(30_000, "--rows", min=1_000, max=2_000_000, help="Rows of generated data."),
    seed: int = typer.Option(0, "--seed", help="Random seed for data and models."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving the API after the summary."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port the API keeps serving on."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """The whole product on embedded defaults: data, four models, registry, drift, an A/B test through the
    router, a monitored day, and the API (kept serving until Ctrl-C unless --no-serve)."""
    from rich.console import Console

    from mlpy.demo import run_demo

    console = Console(stderr=output.structured)
    results = run_demo(rows=rows, seed=seed, serve=serve, port=port, console=console)
    if output.structured:
        print_data(
            [{"step": title, "result": outcome, "seconds": round(sec, 3)} for title, outcome, sec in results]
        )
