"""The sync: provider pages → normalised records → batched upserts → SyncRun.

Import what you need from its modules (`sessions_app.sync.engine`, ...): this
package file stays empty so that `sync.values`, which the provider adapters
use, can be imported without the engine and the models behind it.
"""
