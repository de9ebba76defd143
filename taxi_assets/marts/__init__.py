"""Marts computed inside Postgres from loaded months (`daily_borough_trips`), and their
automation."""
