"""The Dagster pieces the slices (trips, zones, marts, analytics) share: the monthly calendar,
metadata helpers, the executor choice and the warning filters."""
