"""``mlpy registry``: register, list, show, promote, roll back, compare, clean up and verify versions."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml

from mlpy.cli.output import OUTPUT_OPTION, OutputFormat, parse_pairs, print_data, print_mapping, print_table
from mlpy.registry import ModelRegistry, ModelVersion, model_version_manifest

app = typer.Typer(
    help="Register, promote and inspect model versions.", no_args_is_help=True, add_completion=False
)

_state: dict[str, str | None] = {}

VERSION_HELP = "A version number (3) or an alias (@production)."


@app.callback()
def _locations(
    store: str | None = typer.Option(
        None, "--store", envvar="MLPY_STORE", help="Metadata store URL (SQLite file or PostgreSQL)."
    ),
    artifacts: str | None = typer.Option(
        None, "--artifacts", envvar="MLPY_ARTIFACTS", help="Artifact root: a folder, s3://bucket/prefix."
    ),
) -> None:
    """Locations default to a SQLite file and a folder under MLPY_HOME (~/.mlpy)."""
    _state["store"], _state["artifacts"] = store, artifacts


def _registry() -> ModelRegistry:
    return ModelRegistry(_state.get("store"), _state.get("artifacts"))


def _show_version(version: ModelVersion) -> None:
    data = version.to_dict()
    data["signature"] = (
        ", ".join(f"{i['name']}:{i['type']}" for i in version.signature["inputs"])
        if version.signature
        else None
    )
    print_mapping(f"{version.name} version {version.version}", data)


@app.command()
def register(
    name: str = typer.Argument(..., help="Model name."),
    file: Path = typer.Argument(..., help="Serialised model: .skops, or .joblib/.pkl with --trust-pickle."),
    metric: list[str] = typer.Option([], "--metric", help="KEY=NUMBER, repeatable."),
    param: list[str] = typer.Option([], "--param", help="KEY=VALUE, repeatable."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE, repeatable."),
    parent: str | None = typer.Option(None, "--parent", help="Parent version (3, @production or model:3)."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    trust_pickle: bool = typer.Option(
        False, "--trust-pickle", help="Allow .joblib/.pkl files, which run code when loaded."
    ),
    trust_type: list[str] = typer.Option([], "--trust-type", help="Extra skops type to trust, repeatable."),
    if_new: bool = typer.Option(
        False,
        "--if-new",
        help="If a live version already holds this file (same SHA-256), print it: a safe retry.",
    ),
    compile_: bool = typer.Option(
        False,
        "--compile",
        help="Record in mlpy.compiled tags whether the model compiles (ONNX Runtime, else treelite) "
        "and agrees with scikit-learn (needs mlpy[compiled]).",
    ),
    intended_use: str | None = typer.Option(
        None, "--intended-use", help="What the version is for, shown by its model card."
    ),
    limitations: str | None = typer.Option(
        None, "--limitations", help="Where it must not be used or is known to fail (its model card)."
    ),
    sensitive_feature: list[str] = typer.Option(
        [],
        "--sensitive-feature",
        help="A group attribute its requests may carry for fairness monitoring (e.g. sex), repeatable.",
    ),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Register FILE as the next version of NAME."""
    registry = _registry()
    version = registry.register_file(
        name,
        file,
        trust_pickle=trust_pickle,
        trusted_types=trust_type,
        metrics=parse_pairs(metric, "--metric", numeric=True),
        params=parse_pairs(param, "--param"),
        tags=parse_pairs(tag, "--tag"),
        parent=parent,
        description=description,
        if_new=if_new,
        compile=compile_,
        intended_use=intended_use,
        limitations=limitations,
        sensitive_features=sensitive_feature,
    )
    if output.structured:
        print_data(version)
        return
    typer.echo(f"registered {version.name} version {version.version} (sha256 {version.sha256})")
    if compile_:
        tags = version.tags
        if tags.get("mlpy.compiled") == "verified":
            typer.echo(
                f"compiled: verified on {tags['mlpy.compiled.verified_rows']} rows, largest difference "
                f"{tags['mlpy.compiled.max_difference']} ({tags['mlpy.compiled.runtime']})"
            )
        else:
            typer.echo(f"compiled: refused: {tags.get('mlpy.compiled.reason')}")


@app.command("list")
def list_(
    name: str | None = typer.Argument(None, help="List this model's versions instead of all models."),
    tag: list[str] = typer.Option([], "--tag", help="Only versions with KEY=VALUE, repeatable."),
    alias: str | None = typer.Option(None, "--alias", help="Only the version holding this alias."),
    order_by: str = typer.Option("version", "--order-by", help="version, created or metric:NAME."),
    ascending: bool = typer.Option(False, "--ascending", help="Oldest or smallest first."),
    page_size: int = typer.Option(50, "--page-size", help="Items per page (1-1000)."),
    page_token: str | None = typer.Option(None, "--page-token", help="Token printed by the previous page."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List models, or the versions of one model (searchable by tag, alias and metric)."""
    registry = _registry()
    if name is None and not tag and alias is None:
        models = registry.list_models(page_size=page_size, page_token=page_token)
        if output.structured:
            print_data(models)
            return
        rows = [
            (m.name, m.latest_version, m.versions, ", ".join(f"{k}={v}" for k, v in m.aliases.items()))
            for m in models.items
        ]
        print_table("models", ["name", "latest", "versions", "aliases"], rows)
        _next_page(models.next_page_token)
        return
    page = registry.search_versions(
        name,
        tags=parse_pairs(tag, "--tag"),
        alias=alias,
        order_by=order_by,
        descending=not ascending,
        page_size=page_size,
        page_token=page_token,
    )
    if output.structured:
        print_data(page)
        return
    version_rows = [
        (
            v.name,
            v.version,
            ", ".join(v.aliases),
            " ".join(f"{k}={val:g}" for k, val in v.metrics.items()),
            v.parent or "",
            v.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            v.sha256[:12],
        )
        for v in page.items
    ]
    print_table(
        "versions", ["model", "version", "aliases", "metrics", "parent", "created", "sha256"], version_rows
    )
    _next_page(page.next_page_token)


def _next_page(token: str | None) -> None:
    if token:
        typer.echo(f"more: --page-token {token}")


@app.command()
def show(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument("latest", help=VERSION_HELP),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Show one version: artifact, hash, metrics, params, tags, signature, lineage."""
    found = _registry().get_version(name, version)
    if output.structured:
        print_data(found)
    else:
        _show_version(found)


@app.command()
def lineage(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument("latest", help=VERSION_HELP),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Show a version and its ancestors (by --parent), newest first."""
    chain = _registry().lineage(name, version)
    if output.structured:
        print_data(chain)
        return
    rows = [(v.ref, v.estimator, " ".join(f"{k}={m:g}" for k, m in v.metrics.items())) for v in chain]
    print_table("lineage", ["version", "estimator", "metrics"], rows)


@app.command()
def promote(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument(..., help=VERSION_HELP),
    alias: str = typer.Option("production", "--alias", help="Alias to move (production, staging, ...)."),
    reason: str | None = typer.Option(None, "--reason", help="Why: kept in the audit log."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Point an alias at a version."""
    change = _registry().promote(name, version, alias=alias, reason=reason)
    if output.structured:
        print_data(change)
    else:
        typer.echo(f"{name}@{alias}: {change.from_version or '-'} -> {change.to_version}")


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Model name."),
    alias: str = typer.Option("production", "--alias", help="Alias to move back."),
    reason: str | None = typer.Option(None, "--reason", help="Why: kept in the audit log."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Point an alias back at the version it held before its latest promotion."""
    change = _registry().rollback(name, alias=alias, reason=reason)
    if output.structured:
        print_data(change)
    else:
        typer.echo(f"{name}@{alias}: {change.from_version} -> {change.to_version} (rolled back)")


@app.command()
def history(
    name: str = typer.Argument(..., help="Model name."),
    alias: str | None = typer.Option(None, "--alias", help="Only this alias."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """The audit log of alias changes: who, when, from, to, why."""
    events = _registry().history(name, alias=alias)
    if output.structured:
        print_data(events)
        return
    rows = [
        (
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.alias,
            e.action,
            e.from_version,
            e.to_version,
            e.actor,
            e.reason,
        )
        for e in events
    ]
    print_table(f"{name} alias history", ["when", "alias", "action", "from", "to", "who", "why"], rows)


@app.command()
def compare(
    name: str = typer.Argument(..., help="Model name."),
    a: str = typer.Argument(..., help=VERSION_HELP),
    b: str = typer.Argument(..., help=VERSION_HELP),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Metric and parameter differences between two versions (b minus a)."""
    result = _registry().compare(name, a, b)
    if output.structured:
        print_data(result)
        return
    rows = [
        ("metric", k, d.a, d.b, "" if d.delta is None else f"{d.delta:+g}") for k, d in result.metrics.items()
    ]
    rows += [("param", k, d.a, d.b, "changed") for k, d in result.params.items()]
    print_table(
        f"{name}: {result.a} vs {result.b}", ["kind", "name", str(result.a), str(result.b), "delta"], rows
    )


@app.command()
def gc(
    name: str = typer.Argument(..., help="Model name."),
    keep: int = typer.Option(..., "--keep", help="How many of the newest versions to keep."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be deleted."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Delete old versions and their artifacts; versions an alias points at are always kept."""
    plan = _registry().gc(name, keep=keep, dry_run=dry_run)
    if output.structured:
        print_data(plan)
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb}: {', '.join(map(str, plan.deleted)) or 'nothing'}")
    for version, aliases in plan.protected.items():
        typer.echo(f"kept {version}: alias {', '.join(aliases)}")


@app.command()
def verify(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument(..., help=VERSION_HELP),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check the artifact against its recorded SHA-256; exits 3 on a mismatch or a missing artifact."""
    result = _registry().verify(name, version)
    if output.structured:
        print_data(result)
    elif result.ok:
        typer.echo(f"ok: {name} version {result.version} sha256 {result.actual_sha256}")
    else:
        typer.echo(f"error: {name} version {result.version}: {result.problem}", err=True)
    if not result.ok:
        raise typer.Exit(3)


@app.command()
def card(
    name: str = typer.Argument(..., help="Model name."),
    ref: str = typer.Argument("@production", help=VERSION_HELP),
    fmt: str = typer.Option("markdown", "--format", help="markdown, html or json."),
    out: Path | None = typer.Option(None, "--output", "-o", help="Write the card to FILE, not stdout."),
    drift_dataset: list[str] = typer.Option(
        [], "--drift-dataset", help="Also show drift checks recorded under this name, repeatable."
    ),
) -> None:
    """The version's model card: use, data, metrics, lineage, promotions, experiments, drift."""
    from mlpy.cards import CardError, build_card, render

    text = render(build_card(_registry(), name, ref, drift_datasets=drift_dataset), fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CardError(f"cannot write {out}: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {out}")


@app.command()
def manifest(
    name: str = typer.Argument(..., help="Model name."),
    version: str = typer.Argument(..., help=VERSION_HELP),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="metadata.namespace to set."),
    stage: str | None = typer.Option(
        None, "--stage", help="none, staging, production or archived (default: from the version's aliases)."
    ),
    replicas: int = typer.Option(1, "--replicas", min=0, help="Serving replicas."),
    output: str = typer.Option("yaml", "--output", "-o", help="yaml or json."),
) -> None:
    """Print a ModelVersion manifest for kubectl apply or a GitOps repository."""
    if stage is not None and stage not in {"none", "staging", "production", "archived"}:
        raise typer.BadParameter("use none, staging, production or archived", param_hint="--stage")
    if output not in {"yaml", "json"}:
        raise typer.BadParameter("use yaml or json", param_hint="--output")
    found = _registry().get_version(name, version)
    document = model_version_manifest(found, namespace=namespace, stage=stage, replicas=replicas)
    if output == "json":
        print_data(document)
    else:
        typer.echo(yaml.safe_dump(document, sort_keys=False).rstrip())
