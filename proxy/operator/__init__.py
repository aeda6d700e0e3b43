"""The operator surface shared by the API and the CLI: status views and the operator API."""
