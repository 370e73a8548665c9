"""The service side of the protocol: what each of the four Cloud Functions does, as plain library calls.

``functions/`` only turns HTTP requests into these calls and their outcomes into responses, so the
local stack, the tests and the cloud run the same code.
"""
