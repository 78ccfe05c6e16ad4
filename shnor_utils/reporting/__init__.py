"""What every template calls; knows no analysis: Report (report.py), charts (charts.py)."""
