"""A small pure-Python particle simulation: the kind of code pyprof is for.

Most of the time goes to compute_forces (the O(n^2) pair loop), some to
integrate and a little to total_energy, so the profile has a clear shape.
    python3 examples/simulate.py [steps]"""
import math
import random
import sys


def compute_forces(pos, mass):
    n = len(pos)
    forces = [[0.0, 0.0] for _ in range(n)]
    for i in range(n):
        xi, yi = pos[i]
        for j in range(i + 1, n):
            dx = pos[j][0] - xi
            dy = pos[j][1] - yi
            d2 = dx * dx + dy * dy + 1e-3
            f = mass[i] * mass[j] / (d2 * math.sqrt(d2))
            forces[i][0] += f * dx
            forces[i][1] += f * dy
            forces[j][0] -= f * dx
            forces[j][1] -= f * dy
    return forces


def integrate(pos, vel, forces, mass, dt):
    for i in range(len(pos)):
        vel[i][0] += dt * forces[i][0] / mass[i]
        vel[i][1] += dt * forces[i][1] / mass[i]
        pos[i][0] += dt * vel[i][0]
        pos[i][1] += dt * vel[i][1]


def total_energy(pos, vel, mass):
    kinetic = sum(0.5 * m * (v[0] ** 2 + v[1] ** 2) for m, v in zip(mass, vel))
    potential = 0.0
    for i in range(0, len(pos), 4):
        for j in range(i + 1, len(pos), 4):
            dx = pos[j][0] - pos[i][0]
            dy = pos[j][1] - pos[i][1]
            potential -= mass[i] * mass[j] / math.sqrt(dx * dx + dy * dy + 1e-3)
    return kinetic + potential


def main(steps):
    random.seed(1)
    n = 160
    pos = [[random.random(), random.random()] for _ in range(n)]
    vel = [[0.0, 0.0] for _ in range(n)]
    mass = [random.uniform(0.5, 2.0) for _ in range(n)]
    for step in range(steps):
        forces = compute_forces(pos, mass)
        integrate(pos, vel, forces, mass, 1e-4)
        if step % 10 == 0:
            e = total_energy(pos, vel, mass)
    print(f"simulated {steps} steps of {n} particles, energy {e:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
