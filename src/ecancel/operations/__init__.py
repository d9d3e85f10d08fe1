"""Running a deployment: what ``ecancel check --deploy`` refuses in production, and making its keys on purpose."""
