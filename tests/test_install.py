"The environment is what the project needs: real dlib models, no work at import time."
import subprocess, sys


def run_py(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_face_recognition_really_imports():
    # face_recognition calls quit() (status 0!) when face_recognition_models cannot be imported,
    # e.g. when setuptools >= 82 removed pkg_resources. Only a printed marker proves the import finished.
    r = run_py("import face_recognition, face_recognition_models; print('imported', face_recognition.__version__)")
    assert r.returncode == 0 and "imported" in r.stdout, r.stdout + r.stderr


def test_opencv_ships_haar_cascades():
    r = run_py("import cv2, os; print(os.path.isfile(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml'))")
    assert r.stdout.strip() == "True", r.stdout + r.stderr


def test_import_does_no_work():
    # Importing the whole library and choosing detectors must not load a model or a heavy runtime.
    r = run_py("import sys, facemask.pipeline, facemask.cli; from facemask.pipeline import get_detector, DETECTORS\n"
               "[get_detector(n) for n in DETECTORS]\n"
               "heavy = [m for m in ('face_recognition', 'dlib', 'onnxruntime', 'onnx', 'yuface', 'torch', 'voila') if m in sys.modules]\n"
               "print('heavy:', heavy)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "heavy: []", r.stdout
