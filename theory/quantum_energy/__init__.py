"""Simon's problem simulators and the energy accounting of quantum vs classical query algorithms.

Paper: "Energy-Consumption Advantage of Quantum Computation", F. Meier and H. Yamasaki (PRX Energy 2025),
arXiv:2305.11212.
"""
from theory.quantum_energy.energy import (BOLTZMANN, EnergyCurves, EnergyParams, check_params,
                                          classical_queries_lower, crossover, energy_curves, erasure_work,
                                          erasure_work_limit, excited_population, gap_for_error, gate_count)
from theory.quantum_energy.experiment import collision_sweep, simon_sweep
from theory.quantum_energy.simulate import (MAX_QUBITS, RUNS_OFFSET, CollisionResult, SimonResult, apply_oracle,
                                         birthday_queries, collision_search, collision_survival, expected_queries,
                                         expected_runs, gf2_insert, gf2_null_vector, outcome_probabilities, parity,
                                         queries_variance, random_period, runs_variance, simon, simon_oracle,
                                         simon_state, solve_gf2, walsh_hadamard)

__all__ = ["BOLTZMANN", "MAX_QUBITS", "RUNS_OFFSET", "CollisionResult", "EnergyCurves", "EnergyParams", "SimonResult",
           "apply_oracle", "birthday_queries", "check_params", "classical_queries_lower", "collision_search", "collision_sweep",
           "collision_survival", "crossover", "energy_curves", "erasure_work", "erasure_work_limit",
           "excited_population", "expected_queries", "expected_runs", "gap_for_error", "gate_count", "gf2_insert",
           "gf2_null_vector", "outcome_probabilities", "parity", "queries_variance", "random_period", "runs_variance",
           "simon", "simon_oracle", "simon_state", "simon_sweep", "solve_gf2", "walsh_hadamard"]
