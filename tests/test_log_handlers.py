"""``apply_log_handler``: every parameter, and the formatting options it offers."""

from __future__ import annotations

import inspect
import io
import logging
import uuid

import pytest

from plait.exceptions import InvalidInputException
from plait.log_handlers import apply_log_handler, capture_analysis_logs


@pytest.fixture
def applied():
    """Apply handlers through this fixture's function: they (and logger levels) are undone after the test."""
    made: list[tuple[logging.Logger, logging.Handler, int]] = []

    def apply(**kwargs) -> tuple[logging.Logger, logging.Handler]:
        logger = kwargs.get("logger") or logging.getLogger(kwargs.get("logger_name"))
        level = logger.level
        handler = apply_log_handler(**kwargs)
        made.append((logger, handler, level))
        return logger, handler

    yield apply
    for logger, handler, level in reversed(made):
        logger.removeHandler(handler)
        logger.setLevel(level)


def unique_logger_name() -> str:
    return f"tests.log_handlers.{uuid.uuid4().hex}"


def stream_handler() -> logging.StreamHandler:
    return logging.StreamHandler(io.StringIO())


def test_by_default_a_stream_handler_is_attached_to_the_root_logger(applied):
    logger, handler = applied()
    assert logger is logging.getLogger()
    assert handler in logging.getLogger().handlers
    assert type(handler) is logging.StreamHandler
    assert handler.level == logging.INFO


def test_logger_name_chooses_the_logger(applied):
    name = unique_logger_name()
    _, handler = applied(logger_name=name)
    assert handler in logging.getLogger(name).handlers
    assert handler not in logging.getLogger().handlers


def test_a_logger_instance_takes_precedence_over_a_logger_name(applied):
    chosen = logging.getLogger(unique_logger_name())
    other_name = unique_logger_name()
    _, handler = applied(logger_name=other_name, logger=chosen)
    assert handler in chosen.handlers
    assert handler not in logging.getLogger(other_name).handlers


def test_the_handler_given_is_used_and_returned(applied):
    given = stream_handler()
    logger, handler = applied(logger_name=unique_logger_name(), handler=given)
    assert handler is given
    logger.info("hello there")
    assert "hello there" in given.stream.getvalue()


@pytest.mark.parametrize("log_level", [logging.WARNING, "WARNING", "warning"])
def test_records_below_the_log_level_are_ignored(applied, log_level):
    given = stream_handler()
    logger, _ = applied(logger_name=unique_logger_name(), handler=given, log_level=log_level)
    logger.info("quiet info")
    logger.warning("loud warning")
    output = given.stream.getvalue()
    assert "loud warning" in output
    assert "quiet info" not in output
    assert given.level == logging.WARNING


def test_the_logger_level_is_lowered_so_the_handler_sees_its_level(applied):
    given = stream_handler()
    name = unique_logger_name()
    logging.getLogger(name).setLevel(logging.ERROR)
    logger, _ = applied(logger_name=name, handler=given, log_level=logging.DEBUG)
    logger.debug("debug detail")
    assert "debug detail" in given.stream.getvalue()


@pytest.mark.parametrize("log_level", ["LOUD", "", None])
def test_an_invalid_log_level_is_rejected(log_level):
    with pytest.raises(InvalidInputException, match="not a log level"):
        apply_log_handler(logger_name=unique_logger_name(), handler=stream_handler(), log_level=log_level)


def test_the_default_format_shows_time_level_logger_and_message(applied):
    given = stream_handler()
    name = unique_logger_name()
    logger, _ = applied(logger_name=name, handler=given)
    logger.info("formatted message")
    line = given.stream.getvalue().strip()
    assert line.startswith("[")
    assert f"| INFO | {name}] formatted message" in line
    assert "MainThread" not in line and "MainProcess" not in line


def test_include_line_number_process_name_and_thread_name_appear_in_the_output(applied):
    given = stream_handler()
    name = unique_logger_name()
    logger, _ = applied(
        logger_name=name,
        handler=given,
        include_line_number=True,
        include_process_name=True,
        include_thread_name=True,
    )
    logger.info("with context")
    line_number = inspect.currentframe().f_lineno - 1
    line = given.stream.getvalue()
    assert f"{name}:{line_number}]" in line
    assert "MainProcess" in line
    assert "MainThread" in line


@pytest.mark.parametrize(
    ("option", "expected"),
    [("include_process_name", "MainProcess"), ("include_thread_name", "MainThread")],
)
def test_each_include_option_works_alone(applied, option, expected):
    given = stream_handler()
    logger, _ = applied(logger_name=unique_logger_name(), handler=given, **{option: True})
    logger.info("alone")
    assert expected in given.stream.getvalue()


def test_a_formatter_overrides_the_include_options(applied):
    given = stream_handler()
    logger, _ = applied(
        logger_name=unique_logger_name(),
        handler=given,
        formatter=logging.Formatter("CUSTOM %(levelname)s %(message)s"),
        include_line_number=True,
        include_process_name=True,
        include_thread_name=True,
    )
    logger.warning("custom")
    assert given.stream.getvalue() == "CUSTOM WARNING custom\n"


def test_capture_analysis_logs_accepts_a_level_name_and_rejects_an_invalid_one():
    logger = logging.getLogger(unique_logger_name())
    analysis_id = str(uuid.uuid4())
    with capture_analysis_logs(analysis_id, "debug") as records:
        logger.debug("captured debug")
    assert [record["msg"] for record in records] == ["captured debug"]

    root_level = logging.getLogger().level
    with pytest.raises(InvalidInputException, match="not a log level"), capture_analysis_logs(analysis_id, "LOUD"):
        pass  # pragma: no cover
    assert logging.getLogger().level == root_level

    # A rejected level leaves nothing behind: capturing still works afterwards.
    with capture_analysis_logs(analysis_id, logging.INFO) as records:
        logger.info("still captured")
    assert [record["msg"] for record in records] == ["still captured"]
