"""Send jobs and read their results. Start `nuvom runworker --import tasks` first, in this folder."""

from tasks import add, word_count

jobs = add.map([(i, i) for i in range(10)])
jobs.append(word_count.delay("no server needed"))
for job in jobs:
    print(job.id, job.get(timeout=30))
