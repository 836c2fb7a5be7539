from nuvom import task


@task
def must_not_be_found():
    pass
