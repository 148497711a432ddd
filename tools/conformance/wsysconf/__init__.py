"""wsys-conformance: piglit and dEQP-VK through wsys, judged against lavapipe
alone in the same run (see tools/conformance/README.md)."""
