"""Replays fuzz/corpus/export/ through tools/export.py's readers (fuzz/fuzz_export.py):
every input converts or is refused with export.ExportError, within 5 s, under a 2 GiB
address-space limit. Run from the repository root:  python3 tests/test_export_fuzz.py
"""
import os
import resource
import sys
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fuzz"))
import fuzz_export  # noqa: E402

CORPUS = os.path.join(ROOT, "fuzz", "corpus", "export")


class TestExportCorpus(unittest.TestCase):
    def test_corpus_replays_cleanly(self):
        resource.setrlimit(resource.RLIMIT_AS, (fuzz_export.MEMORY, fuzz_export.MEMORY))
        fuzz_export.register_tiny()
        files = [f for f in fuzz_export.read_inputs([CORPUS]) if not f.endswith(".txt")]
        self.assertGreater(len(files), 5)
        start, outcomes = time.perf_counter(), set()
        for path in files:
            with open(path, "rb") as f:
                result, finding = fuzz_export.check(f.read())
            self.assertIsNone(finding, "%s: %s" % (path, finding))
            outcomes.add(result)
        self.assertIn("ok", outcomes)  # the seeds convert completely
        print("\n  %d inputs, %d outcomes, %.1f s" % (len(files), len(outcomes), time.perf_counter() - start),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
