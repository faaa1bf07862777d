"""Word templates of the reports (also installed with the package so a non-editable install finds them)."""
