"""The field's usual stick-figure renderer, as a timing baseline for bench/render.bench.ts.

A faithful port of HumanML3D's / T2M-GPT's ``plot_3d_motion`` (utils/plot_script.py): matplotlib 3D
axes, the five kinematic chains as thick lines, a grey floor quad that follows the root, the root
trajectory, rebuilt every frame by FuncAnimation and saved to MP4 through matplotlib's ffmpeg writer.
Only the parts newer matplotlib removed (``ax.lines = []``, ``Axes3D(fig)``, ``ax.dist``) are replaced
by their current equivalents.

    /usr/bin/python3 bench/baselines/matplotlib_render.py MOTION.npy OUT.mp4 [--size 1000] [--fps 20]

MOTION.npy holds joint positions (T, 22, 3) in metres, y up. Prints one JSON line: frames, seconds.
"""
import argparse
import json
import sys
import time

import numpy as np

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection
except ImportError as err:  # CI does not install matplotlib; the bench reports the skip
    print(json.dumps({"skipped": f"matplotlib is not installed: {err}"}))
    sys.exit(0)

# HumanML3D's t2m_kinematic_chain: right leg, left leg, spine + head, right arm, left arm
KINEMATIC_CHAIN = [[0, 2, 5, 8, 11], [0, 1, 4, 7, 10], [0, 3, 6, 9, 12, 15], [9, 14, 17, 19, 21], [9, 13, 16, 18, 20]]
COLORS = ["red", "blue", "black", "red", "blue"]


def plot_3d_motion(save_path, joints, title, size_px=1000, fps=20, radius=4):
    dpi = 100
    fig = plt.figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    ax = fig.add_subplot(projection="3d")

    data = joints.copy().reshape(len(joints), -1, 3)
    mins = data.min(axis=0).min(axis=0)
    maxs = data.max(axis=0).max(axis=0)
    data[:, :, 1] -= mins[1]
    trajec = data[:, 0, [0, 2]].copy()
    data[..., 0] -= data[:, 0:1, 0]
    data[..., 2] -= data[:, 0:1, 2]

    def init():
        ax.set_xlim3d([-radius / 2, radius / 2])
        ax.set_ylim3d([0, radius])
        ax.set_zlim3d([0, radius])
        fig.suptitle(title, fontsize=20)
        ax.grid(False)

    def plot_xz_plane(minx, maxx, miny, minz, maxz):
        verts = [[minx, miny, minz], [minx, miny, maxz], [maxx, miny, maxz], [maxx, miny, minz]]
        plane = Poly3DCollection([verts])
        plane.set_facecolor((0.5, 0.5, 0.5, 0.5))
        ax.add_collection3d(plane)

    init()

    def update(index):
        for artist in list(ax.lines) + list(ax.collections):
            artist.remove()
        ax.view_init(elev=120, azim=-90, roll=0)
        ax.set_box_aspect(None, zoom=10 / 7.5)  # the original's ax.dist = 7.5
        plot_xz_plane(mins[0] - trajec[index, 0], maxs[0] - trajec[index, 0], 0, mins[2] - trajec[index, 1], maxs[2] - trajec[index, 1])
        if index > 1:
            ax.plot3D(trajec[:index, 0] - trajec[index, 0], np.zeros_like(trajec[:index, 0]), trajec[:index, 1] - trajec[index, 1], linewidth=1.0, color="blue")
        for i, (chain, color) in enumerate(zip(KINEMATIC_CHAIN, COLORS)):
            ax.plot3D(data[index, chain, 0], data[index, chain, 1], data[index, chain, 2], linewidth=4.0 if i < 5 else 2.0, color=color)
        plt.axis("off")
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])

    ani = FuncAnimation(fig, update, frames=len(data), interval=1000 / fps, repeat=False)
    ani.save(save_path, writer=FFMpegWriter(fps=fps))
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("motion", help="joint positions, .npy of shape (T, 22, 3)")
    p.add_argument("out", help="output .mp4")
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--fps", type=int, default=20)
    p.add_argument("--title", default="a person walks forward")
    a = p.parse_args()
    joints = np.load(a.motion).astype(np.float32)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) == 0:
        sys.exit(f"{a.motion}: expected joint positions of shape (T, 22, 3), got {joints.shape}")
    t0 = time.perf_counter()
    plot_3d_motion(a.out, joints, a.title, a.size, a.fps)
    print(json.dumps({"frames": len(joints), "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
