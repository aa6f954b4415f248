"""Contract tests: rules every action.yml, workflow and the Dockerfile must keep."""
