"""The two Mesa models spms_mc is compared with (``benchmarks/bench_mesa.py``), written with Mesa's
own API. Mesa is a benchmark-only dependency (``benchmarks/requirements.txt``), not one of spms_mc.

``MoneyModel`` - the tutorial model (Mesa's introductory tutorial, "Creating Your First Model"):
    no space; every step, in random order (``agents.shuffle_do``), each agent with wealth > 0 gives
    one unit to a uniformly random agent (possibly itself, as in the tutorial). The tutorial draws
    the receiver with ``self.random.choice(self.model.agents)``; in Mesa 3 ``AgentSet.__getitem__``
    builds a list of every agent on each call, so that draw costs O(N) and a step O(N^2). Here the
    receiver is drawn from a list of the agents built once (the same rule and the same random
    stream use; Mesa's best case), so Mesa's rate does not fall with N for that reason;
    ``MoneyModel(n, literal=True)`` draws as the tutorial writes it.

``BoltzmannWealthGrid`` - the Boltzmann wealth model on a grid, with the rules of Mesa's example
    ``boltzmann_wealth_model``: agents on a ``MultiGrid`` torus; each step (``agents.shuffle_do``)
    every agent moves to a random neighbouring cell (Moore neighbourhood, ``include_center=False``)
    and then, if its wealth is > 0, gives one unit to a random other agent in its cell (its
    cell-mates without itself; none, no gift); a ``DataCollector`` records the Gini coefficient
    (the example's formula) and every agent's wealth after each step. Placement: each agent on a
    uniformly random cell. The example runs 100 agents on 10 x 10 cells; :func:`grid_side` keeps
    that density (one agent per cell) at any N.

Sources followed (read, not copied):

* projectmesa/mesa-examples, ``examples/boltzmann_wealth_model/model.py`` (commit 281e9db3): the
  model, the torus, random placement, ``shuffle_do("step")``, the DataCollector with
  ``compute_gini`` and the agents' wealth, the agent's step (move, then give if wealth > 0, to a
  cell-mate other than itself);
* projectmesa/mesa, ``mesa/examples/basic/boltzmann_wealth_model/agents.py`` (commit 16accb83):
  the ``MultiGrid`` form of the agent - ``grid.get_neighborhood(pos, moore=True,
  include_center=False)``, ``grid.move_agent``, cell-mates from ``grid.get_cell_list_contents``
  with the agent removed.

Mesa 3.3.1 also ships a version of the example (``mesa.examples.basic.boltzmann_wealth_model``), on
its newer cell space (``OrthogonalMooreGrid``, not a torus); the model here keeps the ``MultiGrid``
torus of the rules above.
"""
from __future__ import annotations

import math

import mesa
from mesa.space import MultiGrid


def compute_gini(model) -> float:
    """The example's Gini coefficient of the agents' wealth."""
    x = sorted(agent.wealth for agent in model.agents)
    n = model.num_agents
    b = sum(xi * (n - i) for i, xi in enumerate(x)) / (n * sum(x))
    return 1 + (1 / n) - 2 * b


def grid_side(n: int) -> int:
    """Width = height of the grid for N agents: about one cell per agent, as the example's 100 on 10 x 10."""
    return max(1, round(math.sqrt(n)))


# ---------------------------------------------------------------------------------------------
# the tutorial model
# ---------------------------------------------------------------------------------------------
class MoneyAgent(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.wealth = 1

    def step(self):
        if self.wealth > 0:
            other = self.random.choice(self.model.agent_list)
            other.wealth += 1
            self.wealth -= 1


class LiteralMoneyAgent(MoneyAgent):
    def step(self):  # the tutorial's draw: an O(N) list of the AgentSet on every call
        if self.wealth > 0:
            other = self.random.choice(self.model.agents)
            other.wealth += 1
            self.wealth -= 1


class MoneyModel(mesa.Model):
    """The tutorial's model: N agents, one unit each, each step every agent with wealth gives one
    unit to a random agent."""

    def __init__(self, n: int, seed=None, literal: bool = False):
        super().__init__(seed=seed)
        self.num_agents = n
        (LiteralMoneyAgent if literal else MoneyAgent).create_agents(self, n)
        self.agent_list = list(self.agents)

    def step(self):
        self.agents.shuffle_do("step")


# ---------------------------------------------------------------------------------------------
# the grid model
# ---------------------------------------------------------------------------------------------
class GridMoneyAgent(mesa.Agent):
    def __init__(self, model):
        super().__init__(model)
        self.wealth = 1

    def move(self):
        cells = self.model.grid.get_neighborhood(self.pos, moore=True, include_center=False)
        self.model.grid.move_agent(self, self.random.choice(cells))

    def give_money(self):
        cellmates = [a for a in self.model.grid.get_cell_list_contents([self.pos]) if a is not self]
        if cellmates:
            other = self.random.choice(cellmates)
            other.wealth += 1
            self.wealth -= 1

    def step(self):
        self.move()
        if self.wealth > 0:
            self.give_money()


class BoltzmannWealthGrid(mesa.Model):
    """N agents on a ``width`` x ``height`` MultiGrid torus (default: :func:`grid_side` each way)."""

    def __init__(self, n: int = 100, width: int | None = None, height: int | None = None, seed=None):
        super().__init__(seed=seed)
        width = width or grid_side(n)
        height = height or grid_side(n)
        self.num_agents = n
        self.grid = MultiGrid(width, height, torus=True)
        self.datacollector = mesa.DataCollector(model_reporters={"Gini": compute_gini},
                                                agent_reporters={"Wealth": "wealth"})
        for agent in GridMoneyAgent.create_agents(self, n):
            self.grid.place_agent(agent, (self.random.randrange(width), self.random.randrange(height)))
        self.running = True
        self.datacollector.collect(self)

    def step(self):
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
