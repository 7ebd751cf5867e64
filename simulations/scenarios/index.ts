// Every scenario `npm run sim` knows, in the order `all` runs them.
import type { Scenario } from '../lib/scenario.js'
import { adversary } from './adversary.js'
import { capped } from './capped/index.js'
import { churn } from './churn/index.js'
import { durability } from './durability/index.js'
import { erasure } from './erasure.js'
import { lookup } from './lookup.js'
import { nat } from './nat/index.js'
import { partition } from './partition/index.js'
import { swarm } from './swarm.js'

export const scenarios: Scenario[] = [lookup, churn, erasure, swarm, adversary, partition, capped, nat, durability]
