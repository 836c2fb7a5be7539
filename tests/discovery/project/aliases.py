import nuvom
import nuvom as nv
from nuvom import task as job


@job
def aliased():
    pass


@nv.task
def via_module_alias():
    pass


@nuvom.task(name="reports.full")
async def via_module():
    pass
