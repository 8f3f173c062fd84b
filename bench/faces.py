#!/usr/bin/env python3
"""make bench-faces: MTCNN detection time per frame beside OpenCV's Haar cascade, paired.

    faces.py BENCH_FACES DETECTOR.emoti WORKDIR [ROUNDS [EMOTI MODEL.emoti]]

Frames: four real photos from Debian's python3-skimage (astronaut, coffee, camera, chelsea)
fitted onto a noise background at 640x480 and 1280x720, written as PPM into WORKDIR. For each
size and min face (40, 20), each frame is detected ROUNDS times by emoti (bench/bench_faces,
one process serving detections, built with OpenMP: 1 and 2 threads) and by cv2.CascadeClassifier(haarcascade_frontalface_default)
.detectMultiScale(gray, 1.1, 5, minSize=(m, m)) alternately, so that both see the same state of
a noisy machine; the grey conversion is inside Haar's time. Prints the medians and the ratio.
With EMOTI and MODEL: the tracked-video rate, frames per second of `emoti video --faces` (one
thread: detection, tracking, the crop and the model on every face) over a generated 640x480
clip of 100 frames in which two faces from the astronaut photo cross the frame, the median of
3 runs. Measures, asserts nothing."""
import os
import statistics
import subprocess
import sys
import time


def frames(work):
    import numpy as np
    import skimage.data as d
    from PIL import Image
    photos = (d.astronaut(), d.coffee(), np.repeat(d.camera()[:, :, None], 3, 2), d.chelsea())
    out = {}
    for W, H in ((640, 480), (1280, 720)):
        bg = np.clip(np.random.default_rng(1).normal(110, 30, (H, W, 3)), 0, 255).astype(np.uint8)
        for k, img in enumerate(photos):
            im = Image.fromarray(img)
            s = min(W / im.width, H / im.height)
            im = im.resize((int(im.width * s), int(im.height * s)), Image.BICUBIC)
            c = Image.fromarray(bg)
            c.paste(im, ((W - im.width) // 2, (H - im.height) // 2))
            path = os.path.join(work, "f%d_%d.ppm" % (W, k))
            c.save(path)
            out.setdefault((W, H), []).append((path, np.asarray(c)))
    return out


def clip(work, n=100):
    """A folder of n 640x480 PPM frames: two astronaut faces (one mirrored, one at 0.7x) moving
    in opposite directions over a noise background, crossing mid-clip."""
    import numpy as np
    import skimage.data as d
    from PIL import Image
    face = Image.fromarray(d.astronaut()[30:200, 150:300])
    faces = (face.resize((120, 136)), face.transpose(Image.FLIP_LEFT_RIGHT).resize((84, 95)))
    bg = Image.fromarray(np.clip(np.random.default_rng(2).normal(110, 30, (480, 640, 3)), 0, 255).astype(np.uint8))
    folder = os.path.join(work, "clip")
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        f, t = bg.copy(), i / (n - 1)
        f.paste(faces[0], (int(20 + 480 * t), 100 + int(40 * t)))
        f.paste(faces[1], (int(520 - 480 * t), 260 - int(30 * t)))
        f.save(os.path.join(folder, "%05d.ppm" % (i + 1)))
    return folder, n


def video_rate(emoti, model, detector, work):
    folder, n = clip(work)
    cmd = [emoti, "video", "--faces", "-m", model, "-d", detector, "-f", "csv", folder]
    times, rows = [], 0
    for _ in range(3):
        t = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, text=True).stdout
        times.append(time.perf_counter() - t)
        rows = len(out.splitlines()) - 1
    tracks = len({line.split(",")[2] for line in out.splitlines()[1:]})
    best = statistics.median(times)
    print("tracked video: emoti video --faces, 640x480, %d frames, %d rows (frame, track), %d tracks:"
          " %.2f s median of 3, %.1f frames/s (1 thread)" % (n, rows, tracks, best, n / best))


def main(bench, detector, work, rounds=10, emoti=None, model=None):
    try:
        import cv2
    except ImportError:
        print("bench-faces: SKIPPED the Haar peer: no cv2 (Debian: python3-opencv opencv-data)")
        return 0
    xml = os.path.join(cv2.data.haarcascades if hasattr(cv2, "data") else
                       "/usr/share/opencv4/haarcascades", "haarcascade_frontalface_default.xml")
    haar = cv2.CascadeClassifier(xml)
    if haar.empty():
        print("bench-faces: SKIPPED the Haar peer: cannot load %s (Debian: opencv-data)" % xml)
        return 0
    os.makedirs(work, exist_ok=True)
    sets = frames(work)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print("bench-faces on %s, %d CPUs; OpenCV %s; %d rounds per frame" % (cpu, os.cpu_count(), cv2.__version__, rounds))
    print("%-9s %4s %7s | %12s %12s | %11s" % ("frame", "min", "threads", "emoti ms", "Haar ms", "Haar/emoti"))
    for (W, H), fs in sets.items():
        paths = [p for p, _ in fs]
        for threads in (1, 2):
            cv2.setNumThreads(threads)
            srv = subprocess.Popen([bench, detector, str(threads)] + paths, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
            if srv.stdout.readline().strip() != "ready":
                print("bench-faces: bench_faces did not start")
                return 1
            for m in (40, 20):
                e, h = [], []
                for _ in range(rounds):
                    for i, (_, rgb) in enumerate(fs):
                        srv.stdin.write("%d %d\n" % (i, m))
                        srv.stdin.flush()
                        e.append(float(srv.stdout.readline().split()[0]))
                        t = time.perf_counter()
                        haar.detectMultiScale(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 1.1, 5, minSize=(m, m))
                        h.append((time.perf_counter() - t) * 1e3)
                me, mh = statistics.median(e), statistics.median(h)
                print("%4dx%-4d %4d %7d | %12.2f %12.2f | %10.2fx" % (
                    W, H, m, threads, me, mh, mh / me))
            srv.stdin.close()
            srv.wait()
    print("threads: emoti_detector_set_threads (P-Net levels shared out) and cv2.setNumThreads")
    if emoti and model:
        video_rate(emoti, model, detector, work)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 10,
                  *sys.argv[5:7]))
