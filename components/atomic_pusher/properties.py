"""Custom properties of the PushedModel artifacts the atomic Pusher writes (and `rollback`
records), in a module without imports, so that readers such as `arith-tfx runs` need no
TensorFlow."""
PUSHED = "pushed"                        # 1 when the model was pushed (TFX's own property)
PUSHED_VERSION = "pushed_version"        # the version folder's name (TFX's own property)
PUSHED_MODEL_ID = "pushed_model_id"      # the Model artifact the push came from
NOT_PUSHED_REASON = "not_pushed_reason"  # why not, when it is not a missing blessing
