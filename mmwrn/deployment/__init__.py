"""Deployment: ONNX export checked with ONNX Runtime (:mod:`.onnx_export`) and
the bridge to mmdeploy (:mod:`.mmdeploy_bridge`)."""
