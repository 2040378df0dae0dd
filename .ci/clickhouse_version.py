"""Print the ClickHouse version this environment's chDB embeds, from the engine itself."""

import chdb

print(f"ClickHouse {chdb.query('SELECT version()', 'TSVRaw').bytes().decode().strip()} (chdb {chdb.__version__})")
