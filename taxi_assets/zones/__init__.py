"""The TLC zone lookup, loaded whole into `taxi_zones`."""
