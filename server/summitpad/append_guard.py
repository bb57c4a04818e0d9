"""The start every script that appends to a pad's log shares (store._APPEND and
replica_wait._APPEND_UNPUBLISHED).

A deleted pad keeps a tombstone key. A writer that has seen entries of the pad (its last seen
log id is not '0-0') must not bring it back: the script returns false and writes nothing. A
writer that has seen none starts the pad anew, and the tombstone goes. Then `first` is the
log's last id before the append ('0-0' for an empty log).
"""


def append_guard(seen: str) -> str:
    """Lua for KEYS[1] the log and KEYS[2] the tombstone; `seen` is the Lua expression of the
    writer's last seen id (an ARGV slot)."""
    return f"""
if redis.call('EXISTS', KEYS[2]) == 1 then
  if {seen} ~= '0-0' then return false end
  redis.call('DEL', KEYS[2])
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local first = '0-0'
if #last > 0 then first = last[1][1] end
"""
