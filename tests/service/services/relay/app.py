"""Asks ``child`` (on the local bus) ``questions`` questions from inside the analysis, then reports
the UUIDs of the analyses that answered them."""

from plait.resources.child import Child


def run(analysis):
    asked = []
    if analysis.input_values["child"]:
        child = Child(analysis.input_values["child"], {"name": "LocalBackend"})
        count = analysis.input_values.get("questions", 1)
        nested = {"input_values": {"child": None}, "timeout": 60, "maximum_heartbeat_interval": 30}
        answers = [child.ask(**nested)] if count == 1 else child.ask_multiple(*([nested] * count))
        asked = [answer["output_values"]["question_uuid"] for answer in answers]
    analysis.output_values = {"question_uuid": analysis.id, "asked": asked}
