"""The commands other than `run`/`plan`: each takes options and returns a result object that
`refill.render` turns into the lines refill prints.
"""
