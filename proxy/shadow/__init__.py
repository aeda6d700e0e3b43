"""Shadow traffic: in modes `shadow` and `live` the primary answers the client and the
other side gets the same request off the response path; the two answers are compared
and mismatches kept. See proxy/shadow/mirror.py for the flow."""
