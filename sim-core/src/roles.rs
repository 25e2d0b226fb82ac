//! Systems of several node roles: each role is a [`Node`](crate::Node) of its own with
//! the system's message and timer types, and [`roles!`](crate::roles!) makes the
//! system's node type, an enum of the roles, with the dispatch written for it.

/// A role of the node enum `E`: how to find it inside a node of `E`.
///
/// [`roles!`](crate::roles!) implements it for every role of the enum it makes, so that
/// invariants and reports can write `GateNode::of(node)` instead of matching.
pub trait Role<E>: Sized {
    /// The role inside `node`, if `node` plays it.
    fn of(node: &E) -> Option<&Self>;
    /// The role inside `node`, mutably, if `node` plays it.
    fn of_mut(node: &mut E) -> Option<&mut Self>;
}

/// The node type of a system with several roles: an enum with one variant per role,
/// and its [`Node`](crate::Node) implementation, which hands every event to the role
/// the node plays. Each role implements `Node` itself, with the same `Msg` and `Timer`
/// types; its handlers take `ctx: &mut impl Ctx<Self>`, so role code depends on the
/// message and timer types only, and a role can be unit-tested alone with a
/// [`Recorder`](crate::Recorder).
///
/// Also made: `From<Role>` for the enum, and [`Role`] for each role. A role type may
/// appear in one variant only.
///
/// A variant may hold its role boxed, written `Variant(Box<RoleType>)`, so that a large
/// role does not make every node of the system as large: `From<RoleType>` boxes it,
/// and `RoleType::of` still returns the role itself.
///
/// ```
/// use sim_core::roles::Role;
/// use sim_core::{Ctx, Message, Node, NodeId, TimerTag};
///
/// #[derive(Clone, Debug, Hash)]
/// pub enum Msg { Ask, Answer }
/// impl Message for Msg {
///     fn size_bytes(&self) -> u32 { 16 }
///     fn kind(&self) -> &'static str { "msg" }
/// }
/// #[derive(Clone, Debug, Hash)]
/// pub struct NoTimer;
/// impl TimerTag for NoTimer {
///     fn kind(&self) -> &'static str { "none" }
/// }
///
/// pub struct Client { answers: u32 }
/// impl Node for Client {
///     type Msg = Msg;
///     type Timer = NoTimer;
///     fn on_start(&mut self, ctx: &mut impl Ctx<Self>) {
///         let server = ctx.lookup("server").expect("a server");
///         ctx.send(server, Msg::Ask);
///     }
///     fn on_message(&mut self, _: &mut impl Ctx<Self>, _: NodeId, _: Msg) {
///         self.answers += 1;
///     }
///     fn on_timer(&mut self, _: &mut impl Ctx<Self>, _: NoTimer) {}
/// }
///
/// pub struct Server;
/// impl Node for Server {
///     type Msg = Msg;
///     type Timer = NoTimer;
///     fn on_start(&mut self, _: &mut impl Ctx<Self>) {}
///     fn on_message(&mut self, ctx: &mut impl Ctx<Self>, from: NodeId, _: Msg) {
///         ctx.send(from, Msg::Answer);
///     }
///     fn on_timer(&mut self, _: &mut impl Ctx<Self>, _: NoTimer) {}
/// }
///
/// sim_core::roles! {
///     /// A node of the ask-and-answer system.
///     pub enum AskNode {
///         /// Asks once (boxed, as a large role would be).
///         Client(Box<Client>),
///         /// Answers.
///         Server(Server),
///     }
/// }
///
/// let mut sim = sim_core::Simulation::<AskNode>::new(Default::default());
/// sim.add_node("server", Server.into());
/// let client = sim.add_node("client", Client { answers: 0 }.into());
/// sim.run_until(sim_core::SimTime::from_secs(1));
/// assert_eq!(Client::of(sim.node(client).1).map(|c| c.answers), Some(1));
/// ```
#[macro_export]
macro_rules! roles {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(#[$first_meta:meta])*
            $first:ident($($first_role:tt)+)
            $(, $(#[$variant_meta:meta])* $variant:ident($($role:tt)+))* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $(#[$first_meta])*
            $first($($first_role)+),
            $($(#[$variant_meta])* $variant($($role)+),)*
        }

        impl $crate::Node for $name {
            type Msg = <$crate::roles!(@inner $($first_role)+) as $crate::Node>::Msg;
            type Timer = <$crate::roles!(@inner $($first_role)+) as $crate::Node>::Timer;

            fn on_start(&mut self, ctx: &mut impl $crate::Ctx<Self>) {
                match self {
                    $name::$first(role) => role.on_start(ctx),
                    $($name::$variant(role) => role.on_start(ctx),)*
                }
            }

            fn on_message(
                &mut self,
                ctx: &mut impl $crate::Ctx<Self>,
                from: $crate::NodeId,
                msg: Self::Msg,
            ) {
                match self {
                    $name::$first(role) => role.on_message(ctx, from, msg),
                    $($name::$variant(role) => role.on_message(ctx, from, msg),)*
                }
            }

            fn on_timer(&mut self, ctx: &mut impl $crate::Ctx<Self>, timer: Self::Timer) {
                match self {
                    $name::$first(role) => role.on_timer(ctx, timer),
                    $($name::$variant(role) => role.on_timer(ctx, timer),)*
                }
            }

            fn on_crash(&mut self) {
                match self {
                    $name::$first(role) => role.on_crash(),
                    $($name::$variant(role) => role.on_crash(),)*
                }
            }

            fn on_restart(&mut self, ctx: &mut impl $crate::Ctx<Self>) {
                match self {
                    $name::$first(role) => role.on_restart(ctx),
                    $($name::$variant(role) => role.on_restart(ctx),)*
                }
            }

            fn on_leave(&mut self, ctx: &mut impl $crate::Ctx<Self>) {
                match self {
                    $name::$first(role) => role.on_leave(ctx),
                    $($name::$variant(role) => role.on_leave(ctx),)*
                }
            }
        }

        $crate::roles!(@role $name, $first, $($first_role)+);
        $($crate::roles!(@role $name, $variant, $($role)+);)*
    };
    (@inner Box<$role:ty>) => { $role };
    (@inner $role:ty) => { $role };
    (@role $name:ident, $variant:ident, Box<$role:ty>) => {
        impl From<$role> for $name {
            fn from(role: $role) -> Self {
                $name::$variant(Box::new(role))
            }
        }

        impl $crate::roles::Role<$name> for $role {
            #[allow(unreachable_patterns)]
            fn of(node: &$name) -> Option<&Self> {
                match node {
                    $name::$variant(role) => Some(&**role),
                    _ => None,
                }
            }

            #[allow(unreachable_patterns)]
            fn of_mut(node: &mut $name) -> Option<&mut Self> {
                match node {
                    $name::$variant(role) => Some(&mut **role),
                    _ => None,
                }
            }
        }
    };
    (@role $name:ident, $variant:ident, $role:ty) => {
        impl From<$role> for $name {
            fn from(role: $role) -> Self {
                $name::$variant(role)
            }
        }

        impl $crate::roles::Role<$name> for $role {
            #[allow(unreachable_patterns)]
            fn of(node: &$name) -> Option<&Self> {
                match node {
                    $name::$variant(role) => Some(role),
                    _ => None,
                }
            }

            #[allow(unreachable_patterns)]
            fn of_mut(node: &mut $name) -> Option<&mut Self> {
                match node {
                    $name::$variant(role) => Some(role),
                    _ => None,
                }
            }
        }
    };
}
