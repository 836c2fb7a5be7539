from nuvom import task


@task(name="reports.daily", tags="daily")
def daily_report():
    pass
