"""Business rules as plain functions: views, CLI commands, jobs and tests all call these."""
