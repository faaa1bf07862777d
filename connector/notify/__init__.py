"""Reaching people where they work: the weekly digest to each project manager (SMTP or Microsoft
Graph, or .eml files for review), the Teams message after a failed night or a frozen edition.

config.py   the [notify] and [teams] sections, secrets from files or environment variables
digest.py   what each project manager is told: built from the portfolio and what was sent before
message.py  a digest as a French e-mail: a text part and plain, accessible HTML
send.py     the ways to send: SMTP relay (standard library), Graph sendMail, a folder of .eml
teams.py    an Adaptive Card in French posted to a channel's incoming webhook (Workflows)
digests.py  `copil notify`: the digests of the week built, sent once, recorded"""
