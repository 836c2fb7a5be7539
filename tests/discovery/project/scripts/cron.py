from nuvom import task


@task
def cleanup():
    pass
