"""Replays fuzz/corpus/tflite/ through tools/export.py's TFLite reader (fuzz/fuzz_tflite.py):
every input, as each of the three MTCNN nets, converts or is refused with export.ExportError,
within 5 s, under a 2 GiB address-space limit. Run from the repository root:
python3 tests/test_tflite_fuzz.py
"""
import os
import resource
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fuzz"))
import fuzz_export  # noqa: E402
import fuzz_tflite  # noqa: E402

CORPUS = os.path.join(ROOT, "fuzz", "corpus", "tflite")


class TestTfliteCorpus(unittest.TestCase):
    def test_corpus_replays_cleanly(self):
        resource.setrlimit(resource.RLIMIT_AS, (fuzz_export.MEMORY, fuzz_export.MEMORY))
        target = fuzz_tflite.TFLITE
        target.setup()
        files = [f for f in fuzz_export.read_inputs([CORPUS]) if not f.endswith(".txt")]
        self.assertGreaterEqual(len(files), 3)
        start, outcomes = time.perf_counter(), set()
        for path in files:
            with open(path, "rb") as f:
                result, finding = fuzz_export.check(f.read(), target)
            self.assertIsNone(finding, "%s: %s" % (path, finding))
            outcomes.add(result)
        self.assertIn("ok", outcomes)  # the seeds convert completely
        print("\n  %d inputs, %d outcomes, %.1f s" % (len(files), len(outcomes), time.perf_counter() - start),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
