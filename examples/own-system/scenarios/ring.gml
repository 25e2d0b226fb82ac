graph [
  comment "Five replicas in a ring, for a topology read from a file"
  directed 0
  label "ring"
  node [
    id 0
    label "r0"
  ]
  node [
    id 1
    label "r1"
  ]
  node [
    id 2
    label "r2"
  ]
  node [
    id 3
    label "r3"
  ]
  node [
    id 4
    label "r4"
  ]
  edge [
    source 0
    target 1
  ]
  edge [
    source 1
    target 2
  ]
  edge [
    source 2
    target 3
  ]
  edge [
    source 3
    target 4
  ]
  edge [
    source 4
    target 0
  ]
]
