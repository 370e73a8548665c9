"""The four Cloud Functions, each a thin module over ``plait.cloud.service`` (installed as ``plait.functions``)."""
