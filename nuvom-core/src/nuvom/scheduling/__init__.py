"""Schedules: one-off, interval and cron fires of a task, dispatched by ``nuvom runscheduler``."""
