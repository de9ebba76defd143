"""Test kit: a month generator like the mirror and a loopback mirror server."""
