"""The benchmark: our load beside the lesson's loader and `psql \\copy` (`python -m bench`)."""
