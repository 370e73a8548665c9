"""``plait run``: run the service in the current directory once, exactly as the cloud would."""

from __future__ import annotations

import json
import logging
import sys

import click
from rich.markup import escape

from plait.cli.output import error_console


@click.command()
@click.option(
    "--service-config",
    default="plait.yaml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The service configuration file.",
)
@click.option("--input-values", help="Input values: JSON text, or the path of a JSON file.")
@click.option("--input-manifest", help="Input manifest: the path of a JSON file (or JSON text).")
@click.option("--output-location", help="Where to put output datasets: a gs:// path or a local directory.")
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="The analysis's log level (logs go to stderr).",
)
def run(
    service_config: str,
    input_values: str | None,
    input_manifest: str | None,
    output_location: str | None,
    log_level: str,
) -> None:
    """Run the service once and print its output values and output manifest as JSON.

    Logs and monitor messages go to stderr; the JSON result goes to stdout.
    """
    from plait.configuration import load_service_and_app_configuration
    from plait.log_handlers import create_plait_formatter
    from plait.runner import Runner

    service_configuration, app_configuration = load_service_and_app_configuration(service_config)
    runner = Runner(
        app_src=service_configuration.app_source_path,
        twine=service_configuration.twine_path,
        configuration_values=app_configuration.configuration_values,
        configuration_manifest=app_configuration.configuration_manifest,
        children=app_configuration.children,
        output_location=output_location or app_configuration.output_location,
        crash_diagnostics_cloud_path=service_configuration.crash_diagnostics_cloud_path,
        project_name=service_configuration.project_name,
        service_id=service_configuration.name,
    )

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(create_plait_formatter())
    analysis = runner.run(
        input_values=input_values,
        input_manifest=input_manifest,
        analysis_log_level=getattr(logging, log_level.upper()),
        analysis_log_handler=handler,
        # Escaped: a message's own square brackets are text, not rich markup.
        handle_monitor_message=lambda message: error_console.print(
            f"[dim]monitor message:[/dim] {escape(json.dumps(message))}"
        ),
    )

    result = {
        "analysis_id": analysis.id,
        "output_values": analysis.output_values,
        "output_manifest": analysis.output_manifest.to_primitive() if analysis.output_manifest else None,
        "input_values_hash": analysis.input_values_hash,
        "input_manifest_hash": analysis.input_manifest_hash,
        "configuration_values_hash": analysis.configuration_values_hash,
        "configuration_manifest_hash": analysis.configuration_manifest_hash,
    }
    click.echo(json.dumps(result, indent=2))
