"""The CLI's day-to-day commands: each takes the parsed arguments, prints its result, returns an exit code."""
