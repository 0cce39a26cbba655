"""The example app: the home page counts its visits in PostgreSQL and shows the release."""
