"""copil for shared IT operators: many collectivités, one service, on a PostgreSQL task queue
(procrastinate). README « For shared IT operators ».

registry.py  the tenants: one copil TOML per collectivité in a folder, with its [tenant] section
database.py  the operator's PostgreSQL: a schema per tenant for its state, the operator's tables
budget.py    each tenant's requests per minute, shared by every worker (counted in PostgreSQL)
queue.py     the procrastinate app: the run task (one at a time per tenant), the schedule, workers
status.py    one view of the service: each tenant's last and next run, failures in a row, health"""
